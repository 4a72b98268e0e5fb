{{- define "clusterdoc.name" -}}{{ .Release.Name }}-clusterdoc{{- end -}}
{{- define "clusterdoc.redisUrl" -}}
{{- if .Values.redisUrl -}}{{ .Values.redisUrl }}{{- else -}}redis://{{ include "clusterdoc.name" . }}-redis:6379/0{{- end -}}
{{- end -}}
{{- define "clusterdoc.env" -}}
- name: REDIS_URL
  value: {{ include "clusterdoc.redisUrl" . | quote }}
- name: CLUSTERDOC_CLUSTER
  value: {{ .Values.clusterName | quote }}
- name: CLUSTERDOC_CONFIG
  value: /etc/clusterdoc/config.yaml
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}
