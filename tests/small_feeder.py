"""A four-node feeder the DSO publishes in integration tests and benchmarks: one trading zone F1."""

SMALL_FEEDER = {
    "network": {
        "base_mva": 1.0, "v_min_pu": 0.95, "v_max_pu": 1.05, "v_slack_pu": 1.0,
        "nodes": [{"id": "0", "slack": True}, {"id": "1"}, {"id": "2"}, {"id": "3"}],
        "branches": [
            {"id": "0-1", "from": "0", "to": "1", "r_pu": 0.011, "x_pu": 0.011, "p_max_mw": 2.0, "q_max_mvar": 2.0},
            {"id": "1-2", "from": "1", "to": "2", "r_pu": 0.011, "x_pu": 0.011, "p_max_mw": 2.0, "q_max_mvar": 2.0},
            {"id": "1-3", "from": "1", "to": "3", "r_pu": 0.011, "x_pu": 0.011, "p_max_mw": 2.0, "q_max_mvar": 2.0},
        ],
    },
    "feeders": {"F1": ["1", "2", "3"]},
}


def small_baseline(day: str) -> dict:
    """A one-period baseline for :data:`SMALL_FEEDER`: a modest load at node 3."""
    return {
        "day": day, "periods": 1, "period_minutes": 60,
        "baseline": [{"node": "3", "period": 0, "demand_mw": 0.04, "generation_mw": 0.0,
                      "demand_tan_phi": 0.2, "generation_tan_phi": 0.0}],
        "substation": {"p_mw": None, "q_mvar": None},
        "shedding_cost": {"load_eur_per_mwh": 450.0, "generation_eur_per_mwh": 50.0},
    }  # fmt: skip
