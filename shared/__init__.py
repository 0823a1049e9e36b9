"""Contracts and plumbing shared by the Attesta services (no business rules of one service)."""
