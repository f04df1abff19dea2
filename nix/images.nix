# OCI images of both services for `docker load`: non-root, CA certificates, curl-free healthcheck.
{
  pkgs,
  backend,
  frontend,
}:
let
  inherit (pkgs) lib dockerTools;

  # A fixed numeric user, so volume permissions and `runAsNonRoot` checks are predictable.
  uid = "10001";
  users = dockerTools.fakeNss.override {
    extraPasswdLines = [ "app:x:${uid}:${uid}:users service:/tmp:/sbin/nologin" ];
    extraGroupLines = [ "app:x:${uid}:" ];
  };
  # Docker stores healthcheck durations in nanoseconds.
  seconds = n: n * 1000000000;

  serviceImage =
    {
      package,
      ports,
      env,
    }:
    let
      command = package.meta.mainProgram;
      baseEnv = {
        PATH = "/bin";
        HOME = "/tmp";
        SSL_CERT_FILE = "${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt";
        PYTHONUNBUFFERED = "1";
        PYTHONDONTWRITEBYTECODE = "1";
      };
    in
    dockerTools.streamLayeredImage {
      name = "users-${command}";
      tag = "latest";
      # A fixed date keeps the image reproducible.
      created = "1970-01-01T00:00:01Z";
      contents = [
        package
        users
        dockerTools.caCertificates
      ];
      # A world-writable /tmp for Python, Hypercorn and Prometheus' multiprocess files.
      extraCommands = "mkdir -m 1777 tmp";
      config = {
        User = "${uid}:${uid}";
        WorkingDir = "/tmp";
        Cmd = [
          command
          "serve"
        ];
        Env = lib.mapAttrsToList (name: value: "${name}=${value}") (baseEnv // env);
        ExposedPorts = lib.genAttrs (map (port: "${toString port}/tcp") ports) (_: { });
        Healthcheck = {
          Test = [
            "CMD"
            command
            "healthcheck"
          ];
          Interval = seconds 10;
          Timeout = seconds 3;
          StartPeriod = seconds 20;
          Retries = 3;
        };
      };
    };
in
{
  backend-image = serviceImage {
    package = backend;
    ports = [ 8080 ];
    env = {
      BACKEND_HOST = "0.0.0.0";
      BACKEND_PORT = "8080";
    };
  };

  frontend-image = serviceImage {
    package = frontend;
    ports = [
      8000
      8001
    ];
    # FRONTEND_SECRET_KEY has no default in production: the container's environment must set it.
    env = {
      FRONTEND_HOST = "0.0.0.0";
      FRONTEND_PORT = "8000";
      FRONTEND_METRICS_PORT = "8001";
      FRONTEND_ENV = "production";
      FRONTEND_BACKEND_URL = "http://backend:8080";
    };
  };
}
