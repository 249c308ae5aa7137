{{- define "minio.labels" -}}
app.kubernetes.io/name: minio
app.kubernetes.io/part-of: outpost
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
