"""cdhelper: plan and apply Docker Swarm redeploys from registry webhooks."""

__version__ = "0.1.0"
