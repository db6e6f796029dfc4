# One image for every service; the command chooses which one runs.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY shared ./shared
COPY services ./services
COPY migrations ./migrations
RUN pip install --no-cache-dir .
RUN useradd --system --home /app inbox && mkdir -p /app/var && chown inbox /app/var
USER inbox
EXPOSE 8000
CMD ["inbox", "serve", "--host", "0.0.0.0"]
