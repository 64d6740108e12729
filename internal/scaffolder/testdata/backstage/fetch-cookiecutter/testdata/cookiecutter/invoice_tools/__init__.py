"""Helpers for parsing supplier invoices"""
__version__ = "0.1.0"
PORT = 8000
