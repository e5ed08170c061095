"""The platform's IP pools, emulated on any recent cluster, and every rollout rehearsed on them."""
