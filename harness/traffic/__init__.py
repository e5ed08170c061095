"""The app's answers through its Service while rollouts replace its pods."""
