"""restic"""
