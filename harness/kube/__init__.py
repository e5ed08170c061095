"""Talking to a cluster: helm and kubectl with an explicit kubeconfig, and a small REST client."""
