"""What operators run (scripts/*): deploy, the rollout ways, the image build, and the demo."""
