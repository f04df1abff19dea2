# The Kubernetes manifests of deploy/kubernetes rendered by kustomize: `nix build
# .#kubernetes-local` gives the YAML that `kubectl apply -f result` takes. The overlays and
# their checks live in deploy/kubernetes and tests/test_kubernetes_manifests.py.
{ pkgs }:
let
  render =
    overlay:
    pkgs.runCommand "users-kubernetes-${overlay}" { nativeBuildInputs = [ pkgs.kustomize ]; } ''
      kustomize build ${../deploy/kubernetes}/overlays/${overlay} > "$out"
    '';
in
{
  kubernetes-local = render "local";
  kubernetes-production = render "production";
}
