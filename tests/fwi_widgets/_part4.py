"""The seed tutorial's Part 4 set-up on the workshop example (shared by tests and the
crash-test child processes). Only the inversion parameter names (VS) and the 2D
smoothing lengths differ from the seed."""
MIN_PERIOD = 70.0
MAX_PERIOD = 120.0
PERIOD_BAND = f"{int(MIN_PERIOD)}_{int(MAX_PERIOD)}_seconds"
PROBLEM = f"inv_{PERIOD_BAND}"
SELECTED_EVENTS = [
    "event_CRETE_GREECE_Mag_6.15_2015-04-16-18-07",
    "event_ICELAND_REGION_Mag_5.75_2020-06-20-19-26",
    "event_STRAIT_OF_GIBRALTAR_Mag_6.38_2016-01-25-04-22",
]


def add_problem(p, site="local", name=PROBLEM, initial_trust_region_linf=0.02, misfit=None, prior_model=None):
    from fwi_widgets import namespace as sn

    p += sn.InverseProblemConfiguration(
        name=name,
        events=SELECTED_EVENTS,
        misfit_configuration=misfit or f"tf_phase_misfit_{PERIOD_BAND}",
        prior_model=prior_model or f"initial_model_{PERIOD_BAND}",
        mapping=sn.Mapping(
            scaling="relative_deviation_from_prior",
            inversion_parameters=["VS"],
            source_cutout_radius_in_meters=300000,
            receiver_cutout_radius_in_meters=50000,
        ),
        method=sn.TrustRegion(initial_trust_region_linf=initial_trust_region_linf),
        preconditioner=sn.ModelDependentSmoothing(
            smoothing_lengths_in_wavelengths={"VS": [0.5, 0.5]},
            reference_frequency_in_hertz=1.0 / MIN_PERIOD,
            reference_model="prior",
            reference_velocities={"VS": "VS"},
        ),
        job_submission={
            "forward": sn.SiteConfig(site_name=site, ranks_per_job=1),
            "adjoint": sn.SiteConfig(site_name=site, ranks_per_job=1),
            "preconditioner": sn.SiteConfig(site_name="inline" if site == "inline" else "local", ranks_per_job=1),
        },
    )
    return name
