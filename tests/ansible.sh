# ansible.sh - sourced by the playbook scripts (t3300, t3350) after
# lib.sh: Ansible quiet and fast, and everything it keeps inside $T (no
# cows, no retry files, no fact gathering, no interpreter discovery, no
# configuration file of the machine's); and the release file to copy,
# $T/dist/vcrotate with its sha256sum file, as make release leaves them
# (the build under test stands in for the static executable).
: >"$T/ansible.cfg"
export ANSIBLE_CONFIG=$T/ansible.cfg ANSIBLE_HOME=$T/ansible \
    ANSIBLE_LOCAL_TEMP=$T/ansible/tmp ANSIBLE_REMOTE_TEMP=$T/ansible/remote \
    ANSIBLE_NOCOWS=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_GATHERING=explicit \
    ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_PIPELINING=1 ANSIBLE_NOCOLOR=1 \
    ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_DISPLAY_SKIPPED_HOSTS=0 ANSIBLE_FORKS=3
mkdir -p "$T/dist" && cp "$BUILD/vcrotate" "$T/dist/vcrotate" &&
(cd "$T/dist" && sha256sum vcrotate >vcrotate.sha256)
