#!/bin/busybox sh
# PID 1 of the throwaway hvsock test guest; provision.mjs copies it into the
# initramfs as /init, and run.mjs talks to it through the read-write share /io:
#   in:  /io/job.sh (cd + env + exec of the command), /io/guest.conf (output mode)
#   out: /io/status (exit status) or /io/error (why the guest gave up)
# Every path must end in a power-off: if PID 1 exits the kernel panics, and an
# idle guest would only be stopped by run.mjs's timeout.

/bin/busybox --install -s /bin
export PATH=/bin

mount -t devtmpfs dev /dev
exec </dev/null >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys

out=/dev/console
io=
fail() {
	echo "hvsock VM init: $*" >"$out"
	[ -n "$io" ] && echo "$*" >/io/error
	sync
	poweroff -f
	sleep 10
}

while read -r m; do
	insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
done </etc/hvsock/modules

p9='trans=virtio,version=9p2000.L,msize=512000'
mount -t 9p -o "$p9" hvsockio /io || fail "cannot mount the read-write share"
io=1
. /io/guest.conf

# Command output goes to the virtio console when there is one, which keeps the
# kernel's own messages (serial, logged to a file by run.mjs) out of it; no
# output processing, so no carriage returns. The hvc driver resets a console's
# settings when its last file closes, so init holds it open on fd 9 (which the
# command does not inherit).
if [ -c /dev/hvc0 ]; then
	out=/dev/hvc0
	exec 9<>"$out"
	stty -F "$out" -opost
	[ -n "$HVSOCK_COLS" ] && stty -F "$out" cols "$HVSOCK_COLS" rows "$HVSOCK_ROWS"
fi

[ -c /dev/vsock ] || fail "no /dev/vsock: the vsock modules did not load"

# The root is this machine's, read-only; its pages can be cached freely
# because nothing changes it while the guest is up.
mount -t 9p -o "$p9,ro,cache=loose" hostroot /newroot || fail "cannot mount the host root"
r=/newroot
mount -t proc proc $r/proc || fail "cannot mount /proc in the root"
mount -t sysfs sys $r/sys || fail "cannot mount /sys in the root"
mount -t devtmpfs dev $r/dev || fail "cannot mount /dev in the root"
# devtmpfs has no /dev/fd or /dev/std*; shells and node expect them.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts $r/dev/pts
mount -t tmpfs -o mode=1777 shm $r/dev/shm
mount -t tmpfs -o mode=755 run $r/run || fail "cannot mount /run in the root"
mount -t tmpfs -o mode=1777 vartmp $r/var/tmp

# /tmp is an overlay over the host's /tmp, not a bare tmpfs: a checkout under
# /tmp (CI, fresh clones) stays visible there, and is writable like the rest.
mount -t tmpfs scratch /scratch || fail "cannot mount the scratch tmpfs"
mkdir -p /scratch/tmp /scratch/work
mount -t overlay -o lowerdir=$r/tmp,upperdir=/scratch/tmp,workdir=/scratch/work overlay $r/tmp ||
	mount -t tmpfs -o mode=1777 tmp $r/tmp || fail "cannot mount /tmp in the root"

ip link set lo up || fail "cannot bring up the loopback interface"
hostname hvsock-vm

mkdir -p $r/run/hvsock/modules
cp /io/job.sh $r/run/hvsock/job.sh || fail "cannot copy the job script"
# Modules a test loads and unloads itself (test/vm/modules.ts: vhost_vsock for
# silent-peer.ts, vsock_loopback, which also boots, for no-loopback.test.ts):
# the root is read-only and the initramfs is out of sight after chroot, so
# /run holds them.
while read -r m; do
	cp "/lib/modules/$m.ko" $r/run/hvsock/modules/ || fail "cannot stage module $m"
done </etc/hvsock/modules-on-demand

echo "HVSOCK-VM-READY $(cut -d' ' -f1 /proc/uptime)" >"$out"
if [ "$HVSOCK_TTY" = 1 ]; then
	env -i chroot $r /bin/sh /run/hvsock/job.sh </dev/null >"$out" 2>&1 9>&-
	status=$?
else
	# A pipe, as the caller has: a command that checks isatty() behaves as it
	# would outside. Processes the command leaves behind may keep the pipe
	# open, so cat gets a moment to drain it and no more.
	mkfifo /out.fifo
	(cat /out.fifo >"$out"; touch /out.done) 9>&- &
	env -i chroot $r /bin/sh /run/hvsock/job.sh </dev/null >/out.fifo 2>&1 9>&-
	status=$?
	i=0
	while [ ! -e /out.done ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
fi
echo "$status" >/io/status
sync
poweroff -f
sleep 10
