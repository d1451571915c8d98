"""Owns platform state and worker processes; also hosts the ``mockfleet`` command line."""
