# The qleads portal and worker in one image (docs/deployment.md).
#
#   docker build -t qleads .
#   docker run qleads                                  # a portal instance (gunicorn)
#   docker run qleads qleads worker --smtp mail:25     # a worker
#   docker run qleads flask --app examples.admin_app db upgrade
#
# Everything else comes from the environment: QLEADS_DATABASE_URL, QLEADS_SECRET_KEY, …

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md CHANGELOG.md LICENSE ./
COPY src ./src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    QLEADS_BIND=0.0.0.0:8000 \
    QLEADS_AUTO_UPGRADE=0 \
    FLASK_APP=examples.admin_app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir "$(ls /wheels/qleads-*.whl)[postgres-binary,mail,admin]" \
    && rm -rf /wheels \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin qleads
WORKDIR /app
COPY examples/__init__.py ./examples/__init__.py
COPY examples/admin_app ./examples/admin_app
USER qleads
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT []
CMD ["gunicorn", "-c", "examples/admin_app/gunicorn.conf.py", "examples.admin_app.wsgi:app"]
