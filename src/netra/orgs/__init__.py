"""Organizations: who shares datasets, API keys and threads, with which role; invitations;
the audit log of what admins and members did."""
