{{/* Chart name, possibly overridden. */}}
{{- define "kube-kmip.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-<chart>, or <release> when it already contains the chart name; at most 63 characters. */}}
{{- define "kube-kmip.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kube-kmip.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "kube-kmip.labels" -}}
helm.sh/chart: {{ include "kube-kmip.chart" . }}
app.kubernetes.io/name: {{ include "kube-kmip.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kube-kmip
{{- end }}

{{/* Selector labels of the operator pods. */}}
{{- define "kube-kmip.operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kube-kmip.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
Labels the chart adds to the server pods (through podLabels in server.yaml), so its
NetworkPolicy can select them whatever labels the operator sets itself.
*/}}
{{- define "kube-kmip.server.selectorLabels" -}}
kubekmip.io/release: {{ .Release.Name }}
kubekmip.io/component: server
{{- end }}

{{- define "kube-kmip.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "kube-kmip.operator.serviceAccountName" -}}
{{- default (printf "%s-operator" (include "kube-kmip.fullname" .)) .Values.operator.serviceAccount.name }}
{{- end }}

{{/* Base name of the server's objects (StatefulSet, Services, PDB, Secrets). */}}
{{- define "kube-kmip.server.name" -}}
{{- default (printf "%s-server" (include "kube-kmip.fullname" .)) .Values.server.name | trunc 52 | trimSuffix "-" }}
{{- end }}

{{- define "kube-kmip.server.serviceAccountName" -}}
{{- default (include "kube-kmip.server.name" .) .Values.server.serviceAccountName }}
{{- end }}

{{- define "kube-kmip.server.configMapName" -}}
{{- printf "%s-server-config" (include "kube-kmip.fullname" .) }}
{{- end }}

{{/* Host and port of the server's client Service, as clients in the cluster reach it. */}}
{{- define "kube-kmip.server.address" -}}
{{- printf "%s.%s.svc:%d" (include "kube-kmip.server.name" .) .Release.Namespace (int .Values.server.service.port) }}
{{- end }}

{{/*
The server configuration the operator reads (--server-config), as a dict: .Values.server with the
chart's defaults filled in. Field names and meaning: the contract between chart and operator
(README.md, "Server configuration").
*/}}
{{- define "kube-kmip.server.config" -}}
{{- $s := deepCopy .Values.server }}
{{- $_ := set $s "name" (include "kube-kmip.server.name" .) }}
{{- $_ = set $s "serviceAccountName" (include "kube-kmip.server.serviceAccountName" .) }}
{{- $_ = set $s "image" (default (include "kube-kmip.image" .) .Values.server.image) }}
{{- $_ = set $s "imagePullPolicy" (default .Values.image.pullPolicy .Values.server.imagePullPolicy) }}
{{- $_ = set $s "imagePullSecrets" (default .Values.imagePullSecrets .Values.server.imagePullSecrets) }}
{{- $_ = set $s "podLabels" (merge (dict) (include "kube-kmip.server.selectorLabels" . | fromYaml) .Values.server.podLabels) }}
{{- toYaml $s }}
{{- end }}

{{/* The items of a pod's imagePullSecrets, from a list of Secret names (the context). */}}
{{- define "kube-kmip.imagePullSecrets" -}}
{{- range . }}
- name: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Container security context of both processes. */}}
{{- define "kube-kmip.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "kube-kmip.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The five kinds, for RBAC rules. */}}
{{- define "kube-kmip.kinds" -}}
- kmipscopes
- kmiproles
- kmipclientcredentials
- kmskeys
- kmsproviders
{{- end }}

{{/* Labels of the `helm test` pod. */}}
{{- define "kube-kmip.test.selectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: helm-test
{{- end }}

{{/* Cross-field checks the schema cannot express. */}}
{{- define "kube-kmip.validate" -}}
{{- if and .Values.server.http.enabled (eq (int .Values.server.http.port) (int .Values.server.service.port)) }}
{{- fail (printf "server.http.port must differ from server.service.port (both %d)" (int .Values.server.service.port)) }}
{{- end }}
{{- with .Values.server.metrics }}
{{- if and .enabled (eq (int .port) (int $.Values.server.service.port)) }}
{{- fail (printf "server.metrics.port must differ from server.service.port (both %d)" (int .port)) }}
{{- end }}
{{- if and .enabled $.Values.server.http.enabled (eq (int .port) (int $.Values.server.http.port)) }}
{{- fail (printf "server.metrics.port must differ from server.http.port (both %d)" (int .port)) }}
{{- end }}
{{- end }}
{{- end }}
