"""Real-browser tests: the dashboard notebook served by Voila and opened in JupyterLab, driven by
headless Chromium."""
