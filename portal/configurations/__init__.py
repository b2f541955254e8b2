"""Configurations the company puts on enrolled devices (Wi-Fi, per-app VPN, accounts,
certificates, web clips, passcode, managed app configuration), assigned to groups."""
