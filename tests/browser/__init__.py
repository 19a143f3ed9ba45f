"""Real-browser tests: the dashboard notebook served by Voila, driven by headless Chromium."""
