"""The kernel every app may use and that imports no app: the one domain error (errors.py), who may
do what (roles.py), the public content version the services move (content_version.py) and the
Celery helpers every app's tasks share (tasks.py)."""
