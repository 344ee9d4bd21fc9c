"""The command role's pages (figures) and the quarterly reports."""
from flask import Blueprint

bp = Blueprint("oversight", __name__, url_prefix="/oversight")
