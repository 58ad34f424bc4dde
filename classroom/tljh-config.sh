#!/usr/bin/env bash
# The same class set-up as classroom/jupyterhub_config.py, on The Littlest JupyterHub (TLJH).
# 与 classroom/jupyterhub_config.py 等价的 TLJH 设置。
#
# NOT run by this project's tests (TLJH needs a fresh Ubuntu server with root and systemd); the keys are
# TLJH's documented tljh-config settings. Run it as the hub admin, in a terminal on the hub:
# 本项目的测试没有运行这个脚本（TLJH 需要一台有 root 和 systemd 的全新 Ubuntu 服务器）。
#     sudo bash classroom/tljh-config.sh
set -euo pipefail

# Open JupyterLab after login. / 登录后打开 JupyterLab。
tljh-config set user_environment.default_app jupyterlab

# Per-learner limits, enforced by TLJH's SystemdSpawner (systemd MemoryMax / CPUQuota): a kernel over
# 1G is killed ("kernel died") and the learner restarts it. A chapter's kernel peaks at ~290-460 MiB.
# 每个学生的上限，由 TLJH 的 SystemdSpawner 执行；超过 1G 的内核会被杀掉，学生需重启内核。
tljh-config set limits.memory 1G
tljh-config set limits.cpu 1

# Idle culler (TLJH's default stops a server after only 10 minutes idle): 1 hour, checked every 10
# minutes. A culled server loses its kernels, variables and widget state; the notebook files stay.
# The learner clicks the chapter link again and runs Run -> Run All Cells.
# 空闲回收：TLJH 默认空闲 10 分钟就停掉服务器，这里改成 1 小时。被回收后内核、变量和小部件状态丢失，文件保留；
# 学生再点一次本章链接，然后 Run → Run All Cells（运行 → 运行所有单元格）。
tljh-config set services.cull.enabled true
tljh-config set services.cull.timeout 3600
tljh-config set services.cull.every 600

# Kernels idle for 30 minutes are shut down inside each server (as in jupyterhub_config.py).
# TLJH reads extra JupyterHub configuration from this folder.
cat > /opt/tljh/config/jupyterhub_config.d/nanogpt-class.py <<'EOF'
c.Spawner.args.extend(["--MappingKernelManager.cull_idle_timeout=1800", "--MappingKernelManager.cull_interval=300"])
# Widget updates without Nagle's 40 ms wait on the kernel websocket (nanogpt_lite/websocket.py).
c.Spawner.args.append("--ServerApp.kernel_websocket_connection_class=nanogpt_lite.websocket.NoDelayConnection")
c.Spawner.environment.update({"OMP_NUM_THREADS": "1"})
EOF

# Widgets keep their state in a saved notebook (JupyterLab's widget manager leaves it out by default: a saved
# chapter would reopen with "Error displaying widget: model not found"). `make setup` writes the same setting.
# 保存笔记本时把小部件的状态一起存进去（默认不存，再打开时会显示 “model not found”）；`make setup` 写的是同一个设置。
mkdir -p /opt/tljh/user/share/jupyter/lab/settings/overrides.d
cat > /opt/tljh/user/share/jupyter/lab/settings/overrides.d/nanogpt-faq.json <<'EOF'
{"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": true}}
EOF

tljh-config reload

# The learners' environment: the locked dependencies (CPU torch), the hub's side (nbgitpuller, nbgrader,
# jupyterhub) and this package, in TLJH's user environment. Run from a clone of this repository:
# 学生环境：锁定的依赖（CPU 版 torch）、hub 这一边的包（nbgitpuller、nbgrader、jupyterhub）和本项目。在本仓库的克隆里运行：
#     sudo -E /opt/tljh/user/bin/pip install --extra-index-url https://download.pytorch.org/whl/cpu \
#         -r requirements.lock -r requirements-classroom.lock
#     sudo -E /opt/tljh/user/bin/pip install --no-deps .
# nbgitpuller is in requirements-classroom.lock, not in a learner's requirements.lock.
# nbgitpuller 在 requirements-classroom.lock 里，不在学习者自己电脑用的 requirements.lock 里。
