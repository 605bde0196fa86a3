"""Tests for civicml.registry."""
