{{- define "site.labels" -}}
app.kubernetes.io/name: site
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
outpost.dev/tenant: {{ .Values.tenant | quote }}
{{- end }}

{{- /* A colour goes into CSS verbatim, so only #rgb..#rrggbbaa passes. */ -}}
{{- define "site.color" -}}
{{- if not (regexMatch "^#[0-9a-fA-F]{3,8}$" .) -}}
{{- fail (printf "theme colour %q is not a #hex colour" .) -}}
{{- end -}}
{{- . -}}
{{- end }}

{{- /* Theme text goes into HTML: escaped, and on one line so a newline cannot
break out of the ConfigMap's block scalar. */ -}}
{{- define "site.text" -}}
{{- . | toString | replace "\r" " " | replace "\n" " " | html -}}
{{- end }}
