"""mailspec"""
