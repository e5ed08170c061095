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
app.kubernetes.io/name: {{ include "dummy-flask-app.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{/*
Labels for every object: the pods' labels plus the chart's name and version, and commonLabels.
*/}}
{{- define "dummy-flask-app.labels" -}}
helm.sh/chart: {{ include "dummy-flask-app.chart" . }}
{{ include "dummy-flask-app.ownPodLabels" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end -}}
{{- end -}}

{{/*
The chart's own labels of the pods: without helm.sh/chart, so that a release of the chart
that changes nothing about the pods leaves them running (on the IP-pool platform, each
restarted pod would move a public IP).
*/}}
{{- define "dummy-flask-app.ownPodLabels" -}}
{{ include "dummy-flask-app.selectorLabels" . }}
app.kubernetes.io/version: {{ include "dummy-flask-app.versionLabel" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
Labels of the pods: the chart's own, then podLabels, then commonLabels (podLabels wins a key
both name). The validate helper has refused keys that would repeat the chart's own.
*/}}
{{- define "dummy-flask-app.podLabels" -}}
{{ include "dummy-flask-app.ownPodLabels" . }}
{{- with merge (deepCopy (.Values.podLabels | default dict)) (.Values.commonLabels | default dict) }}
{{ toYaml . }}
{{- end -}}
{{- end -}}

{{/*
The image tag: image.tag, else the chart's appVersion.
*/}}
{{- define "dummy-flask-app.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- end -}}

{{/*
The image tag as a label value: an image tag may run to 128 characters and end in ".", "-"
or "_", a label value may not (63 at most, alphanumeric at both ends).
*/}}
{{- define "dummy-flask-app.versionLabel" -}}
{{- include "dummy-flask-app.imageTag" . | trunc 63 | trimAll "-_." -}}
{{- end -}}

{{/*
The full image reference: repository:tag, pinned by @digest when image.digest is set.
*/}}
{{- define "dummy-flask-app.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "dummy-flask-app.imageTag" .) -}}
{{- with .Values.image.digest }}@{{ . }}{{ end -}}
{{- end -}}

{{/*
The ServiceAccount of the pods: serviceAccount.name, else <fullname> when the chart creates
it, else none (Kubernetes then gives the pods the namespace's default).
*/}}
{{- define "dummy-flask-app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "dummy-flask-app.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The most pods the release runs outside a rollout: autoscaling.maxReplicas with the
autoscaler, else replicaCount; "mostPodsKey" names the value it came from.
*/}}
{{- define "dummy-flask-app.mostPods" -}}
{{- ternary .Values.autoscaling.maxReplicas .Values.replicaCount .Values.autoscaling.enabled | int -}}
{{- end -}}

{{- define "dummy-flask-app.mostPodsKey" -}}
{{- ternary "autoscaling.maxReplicas" "replicaCount" .Values.autoscaling.enabled -}}
{{- end -}}

{{/*
With autoscaling on, the replicas the release's workload runs now, which the autoscaler set:
of the kind rendered, else of the other kind (a kind switch starts from the old count); empty
on a first install, and without the cluster (helm template, where lookup finds nothing). An
upgrade that leaves spec.replicas out would have Kubernetes reset it to 1 until the
autoscaler's next sync (helm/helm#12650), which is how turning autoscaling on used to dip.
*/}}
{{- define "dummy-flask-app.liveReplicas" -}}
{{- $kind := include "dummy-flask-app.workloadKind" . -}}
{{- $other := ternary "Deployment" "StatefulSet" (eq $kind "StatefulSet") -}}
{{- $found := "" -}}
{{- range list $kind $other -}}
{{- $live := include "dummy-flask-app.liveWorkload" (dict "root" $ "kind" .) | fromJson -}}
{{- if and (not $found) $live -}}
{{- $found = toString (int (dig "spec" "replicas" 1 $live)) -}}
{{- end -}}
{{- end -}}
{{- $found -}}
{{- end -}}

{{/*
The release's own workload of "kind" as the cluster has it, as JSON; {} when there is none,
when another release or no release owns it, and without a cluster (helm template).
*/}}
{{- define "dummy-flask-app.liveWorkload" -}}
{{- $live := lookup "apps/v1" .kind .root.Release.Namespace (include "dummy-flask-app.fullname" .root) -}}
{{- if eq (dig "metadata" "annotations" "meta.helm.sh/release-name" "" ($live | default dict)) .root.Release.Name -}}
{{- toJson $live -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/*
The fewest pods the release runs when nothing is rolling out: autoscaling.minReplicas with
the autoscaler, else replicaCount.
*/}}
{{- define "dummy-flask-app.fewestPods" -}}
{{- ternary .Values.autoscaling.minReplicas .Values.replicaCount .Values.autoscaling.enabled | int -}}
{{- end -}}

{{/*
The pods' topology spread constraints: topologySpreadConstraints, each without a
labelSelector given the release's selector labels (a constraint counts only the pods its
selector matches).
*/}}
{{- define "dummy-flask-app.topologySpreadConstraints" -}}
{{- $constraints := list -}}
{{- range .Values.topologySpreadConstraints -}}
{{- $constraint := deepCopy . -}}
{{- if not (hasKey $constraint "labelSelector") -}}
{{- $_ := set $constraint "labelSelector" (dict "matchLabels" (include "dummy-flask-app.selectorLabels" $ | fromYaml)) -}}
{{- end -}}
{{- $constraints = append $constraints $constraint -}}
{{- end -}}
{{- with $constraints }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{/*
The app container's lifecycle: lifecycle, plus the preStop sleep when preStopSleepSeconds
is above 0 (validate refuses both at once). Endpoints drop a stopping pod at once, but
kube-proxy rewrites its rules up to about a second later; serving on meanwhile keeps those
requests from being refused. The kubelet sleeps itself: no binary in the image is needed.
*/}}
{{- define "dummy-flask-app.lifecycle" -}}
{{- $lifecycle := deepCopy (.Values.lifecycle | default dict) -}}
{{- with .Values.preStopSleepSeconds -}}
{{- $_ := set $lifecycle "preStop" (dict "sleep" (dict "seconds" (int .))) -}}
{{- end -}}
{{- with $lifecycle }}{{ toYaml . }}{{ end -}}
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
Refuses an upgrade that would replace the release's running workload with one of the other
kind, unless workload.switchKind says it is meant. Helm reuses no earlier values once any are
given, so an upgrade that forgets workload.kind would otherwise switch kind silently, with
seconds without a Ready pod. A workload scaled to 0 (what a hand-over leaves before the
release adopts the new one) has no pod to lose and passes. `lookup` sees the cluster only
during install, upgrade and server-side dry runs; `helm template` renders as if nothing ran.
*/}}
{{- define "dummy-flask-app.validateKindSwitch" -}}
{{- $kind := include "dummy-flask-app.workloadKind" . -}}
{{- $other := ternary "Deployment" "StatefulSet" (eq $kind "StatefulSet") -}}
{{- $live := include "dummy-flask-app.liveWorkload" (dict "root" . "kind" $other) | fromJson -}}
{{- if and $live (not .Values.workload.switchKind) -}}
{{- if gt (int (dig "spec" "replicas" 1 $live)) 0 -}}
{{- fail (printf "workload.kind: release %s runs a %s and these values render a %s. If that is not meant, give workload.kind=%s (or --reuse-values). To switch, hand the pods over one at a time with scripts/migrate-to-%s, or set workload.switchKind=true for a plain switch (seconds without a Ready pod)." .Release.Name $other $kind $other (lower $kind)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Checks of values that the schema cannot express, each failing with what to change.
*/}}
{{- define "dummy-flask-app.validate" -}}
{{- $strategy := .Values.strategy | default dict -}}
{{- if and (eq (toString $strategy.type) "Recreate") (not (kindIs "invalid" $strategy.rollingUpdate)) -}}
{{- fail "strategy.rollingUpdate: only allowed when strategy.type is RollingUpdate; remove it or set strategy.type=RollingUpdate." -}}
{{- end -}}
{{- $rolling := $strategy.rollingUpdate | default dict -}}
{{- if and (hasKey $rolling "maxSurge") (hasKey $rolling "maxUnavailable") -}}
{{- if and (regexMatch "^0+%?$" (toString $rolling.maxSurge)) (regexMatch "^0+%?$" (toString $rolling.maxUnavailable)) -}}
{{- fail "strategy.rollingUpdate: maxSurge and maxUnavailable cannot both be 0, or the rollout could never replace a pod; raise one of them." -}}
{{- end -}}
{{- end -}}
{{- $update := .Values.updateStrategy | default dict -}}
{{- if and (eq (toString $update.type) "OnDelete") (not (kindIs "invalid" $update.rollingUpdate)) -}}
{{- fail "updateStrategy.rollingUpdate: only allowed when updateStrategy.type is RollingUpdate; remove it or set updateStrategy.type=RollingUpdate." -}}
{{- end -}}
{{- /* The labels the chart sets itself: a copy in podLabels or commonLabels would repeat a key. */ -}}
{{- range $key := list "app.kubernetes.io/name" "app.kubernetes.io/instance" "app.kubernetes.io/version" "app.kubernetes.io/managed-by" "app.kubernetes.io/component" "helm.sh/chart" -}}
{{- range $value := list "podLabels" "commonLabels" -}}
{{- if hasKey (index $.Values $value | default dict) $key -}}
{{- fail (printf "%s: %q is a label the chart sets itself; remove it from %s (nameOverride changes the name, image.tag the version)." $value $key $value) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (eq .Values.gunicorn.workerClass "sync") (gt (int .Values.gunicorn.threads) 1) -}}
{{- fail (printf "gunicorn.threads: must be 1 with gunicorn.workerClass sync (gunicorn would run gthread workers instead), got %d." (int .Values.gunicorn.threads)) -}}
{{- end -}}
{{- $ownEnv := dict "WEB_CONCURRENCY" "gunicorn.workers" "GUNICORN_WORKER_CLASS" "gunicorn.workerClass" "GUNICORN_THREADS" "gunicorn.threads" "GUNICORN_KEEPALIVE" "gunicorn.keepAlive" "GUNICORN_GRACEFUL_TIMEOUT" "gunicorn.gracefulTimeout" "GUNICORN_ACCESS_LOG" "gunicorn.accessLog" -}}
{{- range .Values.extraEnv -}}
{{- if hasKey $ownEnv (toString .name) -}}
{{- fail (printf "extraEnv: %s is set by the chart from %s; set that value instead." .name (get $ownEnv .name)) -}}
{{- end -}}
{{- end -}}
{{- range .Values.extraVolumes -}}
{{- if eq (toString .name) "tmp" -}}
{{- fail "extraVolumes: \"tmp\" is the chart's own volume (gunicorn's heartbeat files at /tmp); give yours another name." -}}
{{- end -}}
{{- end -}}
{{- range .Values.extraVolumeMounts -}}
{{- if eq (trimSuffix "/" (toString .mountPath)) "/tmp" -}}
{{- fail "extraVolumeMounts: /tmp is the chart's own mount (gunicorn's heartbeat files); mount yours elsewhere." -}}
{{- end -}}
{{- end -}}
{{- range $index, $constraint := .Values.topologySpreadConstraints -}}
{{- if and (hasKey $constraint "minDomains") (ne (toString $constraint.whenUnsatisfiable) "DoNotSchedule") -}}
{{- fail (printf "topologySpreadConstraints[%d].minDomains: only allowed with whenUnsatisfiable: DoNotSchedule (Kubernetes refuses it otherwise)." $index) -}}
{{- end -}}
{{- end -}}
{{- if and (.Values.lifecycle | default dict).preStop .Values.preStopSleepSeconds -}}
{{- fail (printf "lifecycle.preStop replaces the chart's preStop sleep of preStopSleepSeconds (%d); set preStopSleepSeconds=0 with it, or drop lifecycle.preStop." (int .Values.preStopSleepSeconds)) -}}
{{- end -}}
{{- with .Values.autoscaling -}}
{{- if .enabled -}}
{{- if gt (int .minReplicas) (int .maxReplicas) -}}
{{- fail (printf "autoscaling.minReplicas (%d) must not exceed autoscaling.maxReplicas (%d)." (int .minReplicas) (int .maxReplicas)) -}}
{{- end -}}
{{- if not (or .targetCPUUtilizationPercentage .targetMemoryUtilizationPercentage) -}}
{{- fail "autoscaling: set targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage (or both), or the autoscaler has nothing to scale on." -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and .Values.networkPolicy.enabled .Values.ipool.enabled (kindIs "invalid" .Values.networkPolicy.externalCIDRs) -}}
{{- fail "networkPolicy.externalCIDRs: with ipool.enabled the pods have public IPs; list the outside ranges that may reach them, [] for none or [\"0.0.0.0/0\"] for anyone." -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.hosts) -}}
{{- fail "ingress.hosts: list at least one host when ingress.enabled is true." -}}
{{- end -}}
{{- if and .Values.httpRoute.enabled (not .Values.httpRoute.parentRefs) -}}
{{- fail "httpRoute.parentRefs: name at least one Gateway when httpRoute.enabled is true." -}}
{{- end -}}
{{- if hasKey (.Values.podAnnotations | default dict) .Values.ipool.annotationKey -}}
{{- fail (printf "podAnnotations: do not set %q here; use ipool.enabled=true and ipool.name, so the chart can check the rollout fits the pool." .Values.ipool.annotationKey) -}}
{{- end -}}
{{- if not (regexMatch "^[a-z]" (include "dummy-flask-app.fullname" .)) -}}
{{- fail (printf "fullnameOverride (or the release name): %q starts with a digit, and a Service name must start with a letter." (include "dummy-flask-app.fullname" .)) -}}
{{- end -}}
{{- include "dummy-flask-app.validatePod" . -}}
{{- include "dummy-flask-app.validateLimits" . -}}
{{- include "dummy-flask-app.validateNetworkPolicy" . -}}
{{- include "dummy-flask-app.validateHTTPRoute" . -}}
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
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/component: test
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end -}}
{{- end -}}

{{/*
A Deployment's maxSurge or maxUnavailable as a pod count, rounded the way the Deployment
controller rounds: surge up, unavailable down.
Takes a dict: value (int or "N%"), replicas, roundUp.
*/}}
{{- define "dummy-flask-app.podCount" -}}
{{- $value := toString .value -}}
{{- if hasSuffix "%" $value -}}
{{- /* atoi, not int: Kubernetes reads "09%" as 9%, sprig's int as octal. */ -}}
{{- $scaled := mul (trimSuffix "%" $value | atoi) (int .replicas) -}}
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
{{- $spare := sub (include "dummy-flask-app.ipoolSize" . | int) (include "dummy-flask-app.mostPods" . | int) -}}
{{- if gt $spare 0 -}}
{{- $strategy = dict "type" "RollingUpdate" "rollingUpdate" (dict "maxSurge" 1 "maxUnavailable" 0) -}}
{{- else -}}
{{- $strategy = dict "type" "RollingUpdate" "rollingUpdate" (dict "maxSurge" 0 "maxUnavailable" 1) -}}
{{- end -}}
{{- end -}}
{{- with $strategy -}}{{- toYaml . -}}{{- end -}}
{{- end -}}

{{/*
How many IPs the pool holds: ipool.size, else the most pods the release runs.
*/}}
{{- define "dummy-flask-app.ipoolSize" -}}
{{- if kindIs "invalid" .Values.ipool.size -}}{{- include "dummy-flask-app.mostPods" . -}}{{- else -}}{{- .Values.ipool.size | int -}}{{- end -}}
{{- end -}}

{{/*
The most pods a Deployment rollout runs at once: the most pods outside a rollout plus
maxSurge, where maxSurge defaults to Kubernetes' 25%; Recreate, or no replicas, adds none.
*/}}
{{- define "dummy-flask-app.deploymentPeakPods" -}}
{{- $replicas := include "dummy-flask-app.mostPods" . | int -}}
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
{{- $replicas := include "dummy-flask-app.mostPods" . | int -}}
{{- $key := include "dummy-flask-app.mostPodsKey" . -}}
{{- $size := include "dummy-flask-app.ipoolSize" . | int -}}
{{- if lt $size $replicas -}}
{{- fail (printf "ipool.size: the pool holds %d IPs but %s is %d, so %d pod(s) would never get an IP. Grow the pool (and ipool.size) or lower %s." $size $key $replicas (sub $replicas $size) $key) -}}
{{- end -}}
{{- if eq .Values.workload.kind "Deployment" -}}
{{- $peak := include "dummy-flask-app.deploymentPeakPods" . | int -}}
{{- if gt $peak $size -}}
{{- fail (printf "strategy: a rolling update of this Deployment runs up to %d pods (%s %d + maxSurge %d), but the pool holds %d IPs (ipool.size, default %s); the extra pods would wait for a free IP forever (FailedSchedulingIP). Set strategy.rollingUpdate.maxSurge=0 with maxUnavailable=1, or ipool.size=%d if the pool has that many IPs, or use workload.kind=StatefulSet." $peak $key $replicas (sub $peak $replicas) $size $key $peak) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
