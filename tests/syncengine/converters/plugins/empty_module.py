"""A module that defines no converter."""

VALUE = 1
