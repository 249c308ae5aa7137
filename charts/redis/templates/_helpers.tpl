{{- define "redis.labels" -}}
app.kubernetes.io/name: redis
app.kubernetes.io/part-of: outpost
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
