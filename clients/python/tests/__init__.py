"""Tests of the client against a real running service (SANDBOX_URL, SANDBOX_API_KEY)."""
