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
{{- with .Values.externalRedis.username }}
- name: REDIS_USERNAME
  value: {{ . | quote }}
{{- end }}
{{- with .Values.externalRedis.sentinels }}
- name: REDIS_SENTINELS
  value: {{ . | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ $.Values.externalRedis.sentinelMaster | quote }}
{{- end }}
{{- with .Values.externalRedis.sentinelPasswordKey }}
{{- $secret := default $.Values.externalRedis.existingSecret $.Values.externalRedis.sentinelPasswordSecret }}
{{- if not $secret }}
{{- fail "externalRedis.sentinelPasswordKey needs a Secret holding it: set externalRedis.sentinelPasswordSecret or externalRedis.existingSecret" }}
{{- end }}
{{- if not $.Values.externalRedis.sentinels }}
{{- fail "externalRedis.sentinelPasswordKey is only used with externalRedis.sentinels" }}
{{- end }}
- name: REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
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
{{- $own := dict "PROMETHEUS_TIMEOUT" "prometheus.timeout" "ETCD_TIMEOUT" "etcd.timeout" "CLUSTERDOC_WORKER_HEARTBEAT_SECONDS" "worker.heartbeatSeconds" }}
{{- if hasKey $own $name }}
{{- fail (printf "env.%s: the chart sets it from %s; set that value instead" $name (get $own $name)) }}
{{- end }}
{{- /* env.PROMETHEUS_URL etc. (the way before these values existed) still work, but not next to the value */}}
{{- $both := dict "PROMETHEUS_URL" (list "prometheus.url" $.Values.prometheus.url) "ETCD_ENDPOINTS" (list "etcd.endpoints" $.Values.etcd.endpoints) "REDIS_USERNAME" (list "externalRedis.username" $.Values.externalRedis.username) }}
{{- if and (hasKey $both $name) (index (get $both $name) 1) }}
{{- fail (printf "env.%s and %s are both set: keep only %s" $name (index (get $both $name) 0) (index (get $both $name) 0)) }}
{{- end }}
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


{{/* Worker-only environment: Prometheus, etcd, the heartbeat. Credentials only by secretKeyRef. */}}
{{- define "clusterdoc.workerEnv" -}}
- name: CLUSTERDOC_WORKER_HEARTBEAT_SECONDS
  value: {{ .Values.worker.heartbeatSeconds | quote }}
{{- with .Values.prometheus.url }}
- name: PROMETHEUS_URL
  value: {{ . | quote }}
{{- end }}
- name: PROMETHEUS_TIMEOUT
  value: {{ .Values.prometheus.timeout | quote }}
{{- $auth := .Values.prometheus.auth }}
{{- $authSecret := default .Values.existingSecret $auth.existingSecret }}
{{- if and (or $auth.tokenKey $auth.usernameKey $auth.passwordKey) (not $authSecret) }}
{{- fail "prometheus.auth needs a Secret holding the credentials: set prometheus.auth.existingSecret (or existingSecret)" }}
{{- end }}
{{- if and $auth.tokenKey (or $auth.usernameKey $auth.passwordKey) }}
{{- fail "prometheus.auth: a bearer token (tokenKey) or basic auth (usernameKey + passwordKey), not both" }}
{{- end }}
{{- if ne (empty $auth.usernameKey) (empty $auth.passwordKey) }}
{{- fail "prometheus.auth: basic auth needs both usernameKey and passwordKey" }}
{{- end }}
{{- range $name, $key := dict "PROMETHEUS_TOKEN" $auth.tokenKey "PROMETHEUS_USERNAME" $auth.usernameKey "PROMETHEUS_PASSWORD" $auth.passwordKey }}
{{- if $key }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $authSecret }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- if or .Values.prometheus.ca.secret .Values.prometheus.ca.configMap }}
- name: PROMETHEUS_CACERT
  value: /etc/clusterdoc/prometheus-ca/{{ .Values.prometheus.ca.key }}
{{- end }}
{{- with .Values.etcd.endpoints }}
- name: ETCD_ENDPOINTS
  value: {{ . | quote }}
{{- end }}
- name: ETCD_TIMEOUT
  value: {{ .Values.etcd.timeout | quote }}
{{- if .Values.etcd.tlsSecret }}
- {name: ETCD_CACERT, value: /etc/clusterdoc/etcd/ca.crt}
- {name: ETCD_CERT, value: /etc/clusterdoc/etcd/tls.crt}
- {name: ETCD_KEY, value: /etc/clusterdoc/etcd/tls.key}
{{- end }}
{{- end -}}

{{- define "clusterdoc.workerMounts" -}}
{{- if .Values.etcd.tlsSecret }}
- {name: etcd-tls, mountPath: /etc/clusterdoc/etcd, readOnly: true}
{{- end }}
{{- if or .Values.prometheus.ca.secret .Values.prometheus.ca.configMap }}
- {name: prometheus-ca, mountPath: /etc/clusterdoc/prometheus-ca, readOnly: true}
{{- end }}
{{- end -}}

{{- define "clusterdoc.workerVolumes" -}}
{{- if .Values.etcd.tlsSecret }}
- name: etcd-tls
  secret: {secretName: {{ .Values.etcd.tlsSecret }}, defaultMode: 0440}
{{- end }}
{{- $ca := .Values.prometheus.ca }}
{{- if and $ca.secret $ca.configMap }}
{{- fail "prometheus.ca: set secret or configMap, not both" }}
{{- end }}
{{- if $ca.secret }}
- name: prometheus-ca
  secret:
    secretName: {{ $ca.secret }}
    defaultMode: 0440
    items: [{key: {{ $ca.key | quote }}, path: {{ $ca.key | quote }}}]
{{- else if $ca.configMap }}
- name: prometheus-ca
  configMap:
    name: {{ $ca.configMap }}
    defaultMode: 0444
    items: [{key: {{ $ca.key | quote }}, path: {{ $ca.key | quote }}}]
{{- end }}
{{- end -}}
