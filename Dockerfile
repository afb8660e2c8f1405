# mockserver: local emulator of cloud batch / async inference APIs.
#   docker build -t mockserver . && docker run --rm -p 8000:8000 mockserver
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# CPU-only torch first, from PyTorch's CPU index: a bare `torch` from PyPI is a multi-GB CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"

COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY fixtures ./fixtures
COPY mockserver ./mockserver
RUN pip install . \
    && useradd --create-home --uid 10001 mock

USER mock
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/_mock/health', timeout=2).status != 200)"]

CMD ["mockserver", "serve", "--host", "0.0.0.0"]
