# The city shape: one image for web and worker processes (see docs/deploy.md).
# Not built on the project's own machines (no container engine there): kept simple.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md run_bot.py ./
COPY bot bot
COPY handlers handlers
COPY notifications notifications
COPY storage storage
COPY web web
COPY reports reports
COPY locales locales
RUN pip install --no-cache-dir . && useradd --system --home /app bot
USER bot
EXPOSE 8080
ENV WEB_HOST=0.0.0.0 WEB_PORT=8080
ENTRYPOINT ["python", "run_bot.py"]
CMD ["run", "--role", "all"]
