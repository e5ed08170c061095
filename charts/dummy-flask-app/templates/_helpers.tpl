{{/*
The chart name, or nameOverride.
*/}}
{{- define "dummy-flask-app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The base name of every object: fullnameOverride, else the release name when it already
contains the chart name, else "<release>-<chart>". Object names are DNS labels, hence 63.
*/}}
{{- define "dummy-flask-app.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The headless Service a StatefulSet names in spec.serviceName. Truncated so that the
"-headless" suffix always survives and never collides with the ordinary Service.
*/}}
{{- define "dummy-flask-app.headlessServiceName" -}}
{{- printf "%s-headless" (include "dummy-flask-app.fullname" . | trunc 54 | trimSuffix "-") -}}
{{- end -}}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "dummy-flask-app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels. Selectors are immutable on Deployments and StatefulSets, so these hold
only labels that never change across upgrades or a switch of workload.kind: never the
version or the chart.
*/}}
{{- define "dummy-flask-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dummy-flask-app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels for every object: the pods' labels plus the chart's name and version.
*/}}
{{- define "dummy-flask-app.labels" -}}
helm.sh/chart: {{ include "dummy-flask-app.chart" . }}
{{ include "dummy-flask-app.podLabels" . }}
{{- end -}}

{{/*
Labels of the pods: without helm.sh/chart, so that a release of the chart that changes
nothing about the pods leaves them running (on the IP-pool platform, each restarted pod
would move a public IP).
*/}}
{{- define "dummy-flask-app.podLabels" -}}
{{ include "dummy-flask-app.selectorLabels" . }}
app.kubernetes.io/version: {{ include "dummy-flask-app.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
The image tag: image.tag, else the chart's appVersion.
*/}}
{{- define "dummy-flask-app.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- end -}}

{{/*
The full image reference.
*/}}
{{- define "dummy-flask-app.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "dummy-flask-app.imageTag" .) -}}
{{- end -}}

{{/*
The IP pool the pods ask for: ipool.name, else "<fullname>-ipool".
*/}}
{{- define "dummy-flask-app.ipoolName" -}}
{{- .Values.ipool.name | default (printf "%s-ipool" (include "dummy-flask-app.fullname" .)) -}}
{{- end -}}

{{/*
The workload kind, after checking it. values.schema.json refuses other kinds too, but a
release installed with --skip-schema-validation must still not render a broken object.
*/}}
{{- define "dummy-flask-app.workloadKind" -}}
{{- $kind := .Values.workload.kind -}}
{{- if not (has $kind (list "Deployment" "StatefulSet")) -}}
{{- fail (printf "workload.kind: %q is not supported; allowed values are \"Deployment\" and \"StatefulSet\"." (toString $kind)) -}}
{{- end -}}
{{- $kind -}}
{{- end -}}

{{/*
Checks of values that the schema cannot express, each failing with what to change.
*/}}
{{- define "dummy-flask-app.validate" -}}
{{- $strategy := .Values.strategy | default dict -}}
{{- if and (eq (toString $strategy.type) "Recreate") $strategy.rollingUpdate -}}
{{- fail "strategy.rollingUpdate: only allowed when strategy.type is RollingUpdate; remove it or set strategy.type=RollingUpdate." -}}
{{- end -}}
{{- $rolling := $strategy.rollingUpdate | default dict -}}
{{- if and (hasKey $rolling "maxSurge") (hasKey $rolling "maxUnavailable") -}}
{{- if and (has (toString $rolling.maxSurge) (list "0" "0%")) (has (toString $rolling.maxUnavailable) (list "0" "0%")) -}}
{{- fail "strategy.rollingUpdate: maxSurge and maxUnavailable cannot both be 0, or the rollout could never replace a pod; raise one of them." -}}
{{- end -}}
{{- end -}}
{{- $update := .Values.updateStrategy | default dict -}}
{{- if and (eq (toString $update.type) "OnDelete") $update.rollingUpdate -}}
{{- fail "updateStrategy.rollingUpdate: only allowed when updateStrategy.type is RollingUpdate; remove it or set updateStrategy.type=RollingUpdate." -}}
{{- end -}}
{{- range $key := list "app.kubernetes.io/name" "app.kubernetes.io/instance" -}}
{{- if hasKey ($.Values.podLabels | default dict) $key -}}
{{- fail (printf "podLabels: %q is a selector label the chart sets itself; remove it from podLabels (use nameOverride to change the name)." $key) -}}
{{- end -}}
{{- end -}}
{{- if hasKey (.Values.podAnnotations | default dict) .Values.ipool.annotationKey -}}
{{- fail (printf "podAnnotations: do not set %q here; use ipool.enabled=true and ipool.name, so the chart can check the rollout fits the pool." .Values.ipool.annotationKey) -}}
{{- end -}}
{{- $stopping := add (int .Values.preStopSleepSeconds) (int .Values.gunicorn.gracefulTimeout) -}}
{{- if ge $stopping (int .Values.terminationGracePeriodSeconds) -}}
{{- fail (printf "preStopSleepSeconds (%d) + gunicorn.gracefulTimeout (%d) must be below terminationGracePeriodSeconds (%d), or Kubernetes kills pods before gunicorn finishes their requests." (int .Values.preStopSleepSeconds) (int .Values.gunicorn.gracefulTimeout) (int .Values.terminationGracePeriodSeconds)) -}}
{{- end -}}
{{- end -}}

{{/*
Labels of the `helm test` pod. Deliberately without app.kubernetes.io/name, so
the app's Services never select the test pod.
*/}}
{{- define "dummy-flask-app.testLabels" -}}
helm.sh/chart: {{ include "dummy-flask-app.chart" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
A Deployment's maxSurge or maxUnavailable as a pod count, rounded the way the Deployment
controller rounds: surge up, unavailable down.
Takes a dict: value (int or "N%"), replicas, roundUp.
*/}}
{{- define "dummy-flask-app.podCount" -}}
{{- $value := toString .value -}}
{{- if hasSuffix "%" $value -}}
{{- $scaled := mul (trimSuffix "%" $value | int) (int .replicas) -}}
{{- if .roundUp -}}{{- div (add $scaled 99) 100 -}}{{- else -}}{{- div $scaled 100 -}}{{- end -}}
{{- else -}}
{{- $value | int -}}
{{- end -}}
{{- end -}}

{{/*
The Deployment's spec.strategy. With ipool on and no strategy given, the default is one that
fits the pool: surge one pod into a spare IP when ipool.size leaves one, else replace pods
one at a time without surging.
*/}}
{{- define "dummy-flask-app.deploymentStrategy" -}}
{{- $strategy := .Values.strategy | default dict -}}
{{- if and .Values.ipool.enabled (not $strategy) -}}
{{- $spare := sub (include "dummy-flask-app.ipoolSize" . | int) (int .Values.replicaCount) -}}
{{- if gt $spare 0 -}}
{{- $strategy = dict "type" "RollingUpdate" "rollingUpdate" (dict "maxSurge" 1 "maxUnavailable" 0) -}}
{{- else -}}
{{- $strategy = dict "type" "RollingUpdate" "rollingUpdate" (dict "maxSurge" 0 "maxUnavailable" 1) -}}
{{- end -}}
{{- end -}}
{{- with $strategy -}}{{- toYaml . -}}{{- end -}}
{{- end -}}

{{/*
How many IPs the pool holds: ipool.size, else replicaCount.
*/}}
{{- define "dummy-flask-app.ipoolSize" -}}
{{- if kindIs "invalid" .Values.ipool.size -}}{{- .Values.replicaCount | int -}}{{- else -}}{{- .Values.ipool.size | int -}}{{- end -}}
{{- end -}}

{{/*
The most pods a Deployment rollout runs at once: replicaCount plus maxSurge, where
maxSurge defaults to Kubernetes' 25%; Recreate, or no replicas, never exceeds replicaCount.
*/}}
{{- define "dummy-flask-app.deploymentPeakPods" -}}
{{- $replicas := int .Values.replicaCount -}}
{{- $strategy := include "dummy-flask-app.deploymentStrategy" . | fromYaml -}}
{{- if or (eq (toString $strategy.type) "Recreate") (eq $replicas 0) -}}
{{- $replicas -}}
{{- else -}}
{{- $rolling := $strategy.rollingUpdate | default dict -}}
{{- $surge := ternary $rolling.maxSurge "25%" (hasKey $rolling "maxSurge") -}}
{{- add $replicas (include "dummy-flask-app.podCount" (dict "value" $surge "replicas" $replicas "roundUp" true)) -}}
{{- end -}}
{{- end -}}

{{/*
The capacity guard: refuses values whose rollout needs more IPs than the pool holds, since
the pods beyond it would stay Pending (FailedSchedulingIP) and the rollout would never end.
A StatefulSet deletes each pod before recreating it, so it only needs replicaCount IPs.
*/}}
{{- define "dummy-flask-app.validateIpool" -}}
{{- if .Values.ipool.enabled -}}
{{- $replicas := int .Values.replicaCount -}}
{{- $size := include "dummy-flask-app.ipoolSize" . | int -}}
{{- if lt $size $replicas -}}
{{- fail (printf "ipool.size: the pool holds %d IPs but replicaCount is %d, so %d pod(s) would never get an IP. Grow the pool (and ipool.size) or lower replicaCount." $size $replicas (sub $replicas $size)) -}}
{{- end -}}
{{- if eq .Values.workload.kind "Deployment" -}}
{{- $peak := include "dummy-flask-app.deploymentPeakPods" . | int -}}
{{- if gt $peak $size -}}
{{- fail (printf "strategy: a rolling update of this Deployment runs up to %d pods (replicaCount %d + maxSurge %d), but the pool holds %d IPs (ipool.size, default replicaCount); the extra pods would wait for a free IP forever (FailedSchedulingIP). Set strategy.rollingUpdate.maxSurge=0 with maxUnavailable=1, or ipool.size=%d if the pool has that many IPs, or use workload.kind=StatefulSet." $peak $replicas (sub $peak $replicas) $size $peak) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
