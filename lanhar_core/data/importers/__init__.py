"""Importers for data that has no built-in reader: generic tables and phone-app exports."""
