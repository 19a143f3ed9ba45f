"""The code cells of the continental tutorial's Part 4 (``shared/reference``), as written.

One line differs: the import, ``from salvus import namespace as sn``, which reads
``from fwi_widgets import namespace as sn`` here. Everything else, the names, the
arguments and the order of the cells, is the seed's own.
"""

CELLS = [
    '''import os

MIN_PERIOD = 70.0
MAX_PERIOD = 120.0
SIMULATION_TIME_IN_SECONDS = 1200.0
SALVUS_FLOW_SITE_NAME = os.environ.get("SITE_NAME", "local")
RANKS_PER_JOB = 4
PROJECT_DIR = "project_dir_central_europe"

period_band_name = f"{int(MIN_PERIOD)}_{int(MAX_PERIOD)}_seconds"''',
    '''SELECTED_EVENTS = [
    "event_CRETE_GREECE_Mag_6.15_2015-04-16-18-07",
    "event_ICELAND_REGION_Mag_5.75_2020-06-20-19-26",
    "event_STRAIT_OF_GIBRALTAR_Mag_6.38_2016-01-25-04-22",
]
# Load the project with the data from the previous parts.
from fwi_widgets import namespace as sn
p = sn.Project(path=PROJECT_DIR)''',
    '''p += sn.InverseProblemConfiguration(
    name=f"inv_{period_band_name}",
    events=SELECTED_EVENTS,
    misfit_configuration=f"tf_phase_misfit_{period_band_name}",
    prior_model=f"initial_model_{period_band_name}",
    mapping=sn.Mapping(
        scaling="relative_deviation_from_prior",
        inversion_parameters=["VSH", "VSV", "VP"],
        map_to_physical_parameters={
            "VPV": "VP",
            "VPH": "VP",
        },
        source_cutout_radius_in_meters=300000,
        receiver_cutout_radius_in_meters=50000,
    ),
    method=sn.TrustRegion(initial_trust_region_linf=0.02),
    preconditioner=sn.ModelDependentSmoothing(
        smoothing_lengths_in_wavelengths={
            "VSH": [0.2, 0.5, 0.5],
            "VSV": [0.2, 0.5, 0.5],
            "VP": [0.2, 0.5, 0.5],
        },
        reference_frequency_in_hertz=1.0 / MIN_PERIOD,
        reference_model="prior",
        reference_velocities={"VSH": "VSH", "VSV": "VSH", "VP": "VSH"},
    ),
    job_submission={
        "forward": sn.SiteConfig(
            site_name=SALVUS_FLOW_SITE_NAME, ranks_per_job=RANKS_PER_JOB
        ),
        "adjoint": sn.SiteConfig(
            site_name=SALVUS_FLOW_SITE_NAME, ranks_per_job=RANKS_PER_JOB
        ),
        "preconditioner": sn.SiteConfig(
            site_name="local", ranks_per_job=RANKS_PER_JOB
        ),
    },
)''',
    '''p.inversions.add_iteration(
    inverse_problem_configuration=f"inv_{period_band_name}"
)''',
    '''p.viz.nb.inversion(inverse_problem_configuration=f"inv_{period_band_name}")''',
    '''p.inversions.resume(
    inverse_problem_configuration=f"inv_{period_band_name}",
)''',
    '''p.inversions.resume(
    inverse_problem_configuration=f"inv_{period_band_name}",
)''',
    '''p.inversions.resume(
    inverse_problem_configuration=f"inv_{period_band_name}",
)''',
    '''p.viz.nb.inversion(
    inverse_problem_configuration=f"inv_{period_band_name}",
)''',
    '''p.inversions.iterate(
    inverse_problem_configuration=f"inv_{period_band_name}",
    timeout_in_seconds=1800,
    ping_interval_in_seconds=100,
)''',
    '''p.viz.nb.inversion(
    inverse_problem_configuration=f"inv_{period_band_name}",
)''',
    '''p.viz.nb.gradients(
    simulation_configuration=f"initial_model_{period_band_name}",
    misfit_configuration=f"tf_phase_misfit_{period_band_name}",
    events=SELECTED_EVENTS,
)''',
]
