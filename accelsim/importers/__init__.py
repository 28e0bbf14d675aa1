"""Importers: turn other simulators' input files into accelsim hw and workload YAML."""
