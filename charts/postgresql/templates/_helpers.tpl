{{- define "postgresql.labels" -}}
app.kubernetes.io/name: postgresql
app.kubernetes.io/part-of: outpost
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
