{{/* Name of the chart, or nameOverride. */}}
{{- define "imagegate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-imagegate, or the release name when it already contains the chart name. */}}
{{- define "imagegate.fullname" -}}
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

{{- define "imagegate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "imagegate.labels" -}}
helm.sh/chart: {{ include "imagegate.chart" . }}
{{ include "imagegate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "imagegate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "imagegate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "imagegate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "imagegate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository[:tag][@digest] */}}
{{- define "imagegate.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end }}

{{/* Pods of the Deployment: replicaCount, else 1 (sqlite) or 2 (postgresql); refuses >1 with sqlite. */}}
{{- define "imagegate.replicas" -}}
{{- $replicas := 1 -}}
{{- if kindIs "invalid" .Values.replicaCount -}}
{{- if eq .Values.store.type "postgresql" }}{{ $replicas = 2 }}{{ end -}}
{{- else -}}
{{- $replicas = int .Values.replicaCount -}}
{{- end -}}
{{- if and (eq .Values.store.type "sqlite") (gt $replicas 1) -}}
{{- fail (printf "replicaCount %d with store.type sqlite: the SQLite store is a file of one pod, so only replicaCount 1 is possible; use store.type postgresql (store.postgresql.existingSecret) to run several replicas" $replicas) -}}
{{- end -}}
{{- $replicas -}}
{{- end }}

{{- define "imagegate.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "provided" -}}
{{- required "certificates.provided.existingSecret is required with certificates.mode provided: a kubernetes.io/tls Secret (tls.crt, tls.key) in the release namespace" .Values.certificates.provided.existingSecret -}}
{{- else -}}
{{- printf "%s-tls" (include "imagegate.fullname" .) -}}
{{- end -}}
{{- end }}

{{- define "imagegate.serviceDNS" -}}
{{- printf "%s.%s.svc" (include "imagegate.fullname" .) .Release.Namespace -}}
{{- end }}

{{- define "imagegate.policiesConfigMap" -}}
{{- if .Values.policies.existingConfigMap -}}
{{- .Values.policies.existingConfigMap -}}
{{- else -}}
{{- printf "%s-policies" (include "imagegate.fullname" .) -}}
{{- end -}}
{{- end }}

{{/* The ConfigMap with the CA of the webhook's callers (key ca.crt), or nothing when clientAuth is off. */}}
{{- define "imagegate.clientCAConfigMap" -}}
{{- $auth := .Values.webhook.clientAuth -}}
{{- if $auth.enabled -}}
{{- if $auth.existingConfigMap -}}
{{- $auth.existingConfigMap -}}
{{- else -}}
{{- $_ := required "webhook.clientAuth.caCertificate or .existingConfigMap is required with webhook.clientAuth.enabled: the PEM CA that signs kube-apiserver's client certificate for webhooks" $auth.caCertificate -}}
{{- printf "%s-webhook-client-ca" (include "imagegate.fullname" .) -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* Everything the webhook configurations share: the namespaces and objects they select, the annotations. */}}
{{- define "imagegate.webhookAnnotations" -}}
{{- if eq .Values.certificates.mode "certManager" }}
annotations:
  cert-manager.io/inject-ca-from: {{ printf "%s/%s-tls" .Release.Namespace (include "imagegate.fullname" .) }}
{{- end }}
{{- end }}

{{- define "imagegate.clientConfig" -}}
clientConfig:
  service:
    namespace: {{ .root.Release.Namespace }}
    name: {{ include "imagegate.fullname" .root }}
    path: {{ .path }}
    port: {{ .root.Values.service.port }}
  {{- if eq .root.Values.certificates.mode "provided" }}
  caBundle: {{ required "certificates.provided.caBundle is required with certificates.mode provided: the base64 PEM CA that signed the serving certificate" .root.Values.certificates.provided.caBundle }}
  {{- end }}
{{- end }}

{{- define "imagegate.selectors" -}}
namespaceSelector:
  matchExpressions:
    # Never judge the control plane or imagegate itself (it could not start to
    # admit its own pods).
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- range (concat (list "kube-system" "kube-node-lease" .Release.Namespace) .Values.webhook.excludeNamespaces | uniq) }}
        - {{ . | quote }}
        {{- end }}
{{- with .Values.webhook.objectSelector }}
objectSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The workload kinds imagegate judges, for the given operations. */}}
{{- define "imagegate.rules" -}}
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    operations: {{ .operations | toJson }}
    resources: ["pods", "pods/ephemeralcontainers", "replicationcontrollers", "podtemplates"]
  - apiGroups: ["apps"]
    apiVersions: ["v1"]
    operations: {{ .operations | toJson }}
    resources: ["deployments", "replicasets", "statefulsets", "daemonsets"]
  - apiGroups: ["batch"]
    apiVersions: ["v1"]
    operations: {{ .operations | toJson }}
    resources: ["jobs", "cronjobs"]
{{- end }}
