"""The chart as data: render it with helm, document its values, plan its rollouts."""
