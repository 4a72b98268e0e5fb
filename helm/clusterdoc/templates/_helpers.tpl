{{/* Names: <release>-clusterdoc, or the release name when it already contains "clusterdoc". */}}
{{- define "clusterdoc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "clusterdoc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Standard labels on every object; the instance label keeps two releases in one namespace apart. */}}
{{- define "clusterdoc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "clusterdoc.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: clusterdoc
{{- end -}}

{{/* Selector labels of one component: include "clusterdoc.selectorLabels" (list . "bot") */}}
{{- define "clusterdoc.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "clusterdoc.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "clusterdoc.componentLabels" -}}
{{- $root := index . 0 -}}
{{ include "clusterdoc.labels" $root }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "clusterdoc.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}:{{ $tag }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{- define "clusterdoc.secretName" -}}
{{- default (printf "%s-secrets" (include "clusterdoc.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{- define "clusterdoc.botServiceName" -}}{{ include "clusterdoc.fullname" . }}-bot{{- end -}}

{{- define "clusterdoc.redisServiceName" -}}{{ include "clusterdoc.fullname" . }}-redis{{- end -}}

{{/* The Secret and key holding the Redis password; empty name when there is none. */}}
{{- define "clusterdoc.redisPasswordSecret" -}}
{{- if .Values.redis.enabled -}}
{{- if .Values.redis.auth.enabled -}}
{{- default (printf "%s-redis" (include "clusterdoc.fullname" .)) .Values.redis.auth.existingSecret -}}
{{- end -}}
{{- else -}}
{{- .Values.externalRedis.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "clusterdoc.redisPasswordKey" -}}
{{- if .Values.redis.enabled -}}{{ .Values.redis.auth.existingSecretKey }}{{- else -}}{{ .Values.externalRedis.passwordKey }}{{- end -}}
{{- end -}}

{{- define "clusterdoc.redisUrl" -}}
{{- if .Values.redis.enabled -}}
redis://{{ include "clusterdoc.redisServiceName" . }}:6379/0
{{- else -}}
{{- required "redisUrl is required when redis.enabled is false (the external Redis, redis:// or rediss://)" .Values.redisUrl -}}
{{- end -}}
{{- end -}}

{{/* The RQ queue of this release's worker: clusterdoc.queue.queue_name(cluster), as RQ stores it. */}}
{{- define "clusterdoc.queueKey" -}}rq:queue:clusterdoc:{{ .Values.clusterName }}{{- end -}}

{{/* Pod and container security: Pod Security "restricted" for every pod of the chart. */}}
{{- define "clusterdoc.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .gid }}
fsGroup: {{ .gid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "clusterdoc.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Environment both processes share: Redis, cluster name, the config file, runbooks, logging. */}}
{{- define "clusterdoc.commonEnv" -}}
- name: REDIS_URL
  value: {{ include "clusterdoc.redisUrl" . | quote }}
{{- $pwSecret := include "clusterdoc.redisPasswordSecret" . }}
{{- if $pwSecret }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $pwSecret }}
      key: {{ include "clusterdoc.redisPasswordKey" . }}
{{- end }}
{{- if not .Values.redis.enabled }}
{{- with .Values.externalRedis.sentinels }}
- name: REDIS_SENTINELS
  value: {{ . | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ $.Values.externalRedis.sentinelMaster | quote }}
{{- end }}
{{- if .Values.externalRedis.tlsSecret }}
- name: REDIS_CACERT
  value: /etc/clusterdoc/redis-tls/ca.crt
{{- if .Values.externalRedis.clientCertificate }}
- name: REDIS_CERT
  value: /etc/clusterdoc/redis-tls/tls.crt
- name: REDIS_KEY
  value: /etc/clusterdoc/redis-tls/tls.key
{{- end }}
{{- end }}
{{- end }}
- name: CLUSTERDOC_CLUSTER
  value: {{ .Values.clusterName | quote }}
- name: CLUSTERDOC_CONFIG
  value: /etc/clusterdoc/config/config.yaml
{{- if or .Values.runbooks .Values.existingRunbooksConfigMap }}
- name: CLUSTERDOC_RUNBOOKS
  value: /etc/clusterdoc/runbooks
{{- end }}
- name: CLUSTERDOC_LOG_FORMAT
  value: {{ .Values.logging.format | quote }}
- name: CLUSTERDOC_LOG_LEVEL
  value: {{ .Values.logging.level | quote }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* One key of the chart's Secret as an environment variable. */}}
{{- define "clusterdoc.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "clusterdoc.secretName" .root }}
      key: {{ .name }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{- define "clusterdoc.commonMounts" -}}
- {name: tmp, mountPath: /tmp}
- {name: config, mountPath: /etc/clusterdoc/config, readOnly: true}
{{- if or .Values.runbooks .Values.existingRunbooksConfigMap }}
- {name: runbooks, mountPath: /etc/clusterdoc/runbooks, readOnly: true}
{{- end }}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.tlsSecret }}
- {name: redis-tls, mountPath: /etc/clusterdoc/redis-tls, readOnly: true}
{{- end }}
{{- end -}}

{{- define "clusterdoc.commonVolumes" -}}
- name: tmp
  emptyDir: {sizeLimit: 64Mi}
- name: config
  configMap: {name: {{ include "clusterdoc.fullname" . }}-config}
{{- if or .Values.runbooks .Values.existingRunbooksConfigMap }}
- name: runbooks
  configMap: {name: {{ default (printf "%s-runbooks" (include "clusterdoc.fullname" .)) .Values.existingRunbooksConfigMap }}}
{{- end }}
{{- if and (not .Values.redis.enabled) .Values.externalRedis.tlsSecret }}
- name: redis-tls
  secret: {secretName: {{ .Values.externalRedis.tlsSecret }}, defaultMode: 0440}
{{- end }}
{{- end -}}

{{/* Restarts the pods when what they read at start changes. */}}
{{- define "clusterdoc.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end -}}
