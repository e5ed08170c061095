"""The app image built and run as the chart's pod runs it: own engine, base image, load, bench."""
