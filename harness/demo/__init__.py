"""The README's main job (`make demo`): the chart installed and upgraded on a cluster."""
