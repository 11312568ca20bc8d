# The city shape: one image for web and worker processes (see docs/deploy.md).
# Not built on the project's own machines (no container engine there): kept simple.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml requirements.lock README.md run_bot.py ./
COPY school_bot school_bot
# the versions CI tests (requirements.lock) as constraints: only what the bot needs is installed
RUN pip install --no-cache-dir -c requirements.lock . && useradd --system --home /app bot
USER bot
EXPOSE 8080
ENV WEB_HOST=0.0.0.0 WEB_PORT=8080
ENTRYPOINT ["python", "run_bot.py"]
CMD ["run", "--role", "all"]
