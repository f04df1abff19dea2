# Zipkin, the trace viewer of OBSERVABILITY=1: the jar pinned in tools/zipkin/versions, on nixpkgs' JRE.
# nixpkgs' own `zipkin` is 1.28.1 (2017), older than the Zipkin 3 flags scripts/trace-viewer-run
# passes, so the same Maven Central jar as `make bootstrap`'s is fetched here, checked by its sha256.
{ pkgs }:
let
  # tools/zipkin/versions: comment lines, then `name version classifier sha256`.
  lines = builtins.filter (
    line: builtins.isString line && line != "" && builtins.substring 0 1 line != "#"
  ) (builtins.split "\n" (builtins.readFile ../tools/zipkin/versions));
  fields = builtins.filter (field: builtins.isString field && field != "") (
    builtins.split "[ \t]+" (builtins.head lines)
  );
  version = builtins.elemAt fields 1;
  classifier = builtins.elemAt fields 2;
  jar = pkgs.fetchurl {
    url = "https://repo1.maven.org/maven2/io/zipkin/zipkin-server/${version}/zipkin-server-${version}-${classifier}.jar";
    sha256 = builtins.elemAt fields 3;
  };
in
pkgs.writeShellApplication {
  name = "zipkin-server";
  runtimeInputs = [ pkgs.jre_headless ];
  # java reads its flags from JDK_JAVA_OPTIONS, which scripts/trace-viewer-run sets.
  text = ''
    exec java -jar ${jar} "$@"
  '';
}
