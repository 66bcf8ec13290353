"""review/scanners"""
