"""Probes for the ALB and ECS: /healthz (the process answers) and /readyz (the database too)."""

from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .db import db, no_connect_wait

bp = Blueprint("health", __name__)

PLAIN = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@bp.route("/healthz")
def healthz():
    return "ok\n", 200, PLAIN


@bp.route("/readyz")
def readyz():
    # Answer at once while the database is down (no waiting for it to come back, db.py): the
    # ALB's check has a timeout, and a target that cannot reach the database is not ready.
    no_connect_wait()
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.warning("readiness check failed: %s", type(error).__name__)
        return "database unavailable\n", 503, PLAIN
    return "ready\n", 200, PLAIN
