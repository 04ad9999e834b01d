"""The main job: a full market day on the real network, driven through each organisation's gateway."""
