{{- define "keycloak.labels" -}}
app.kubernetes.io/name: keycloak
app.kubernetes.io/part-of: outpost
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
