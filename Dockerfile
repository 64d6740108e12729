# Portal's image for those who build with Docker. CI builds the same image without Docker or a base
# image: `go run ./build/image` (see build/image). Keep the two equivalent: build/image's tests
# compare this file's user, entrypoint, port, environment, labels, /etc/passwd and /etc/group with
# the builder's.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(git log -1 --format=%cI) -t portal .

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOFLAGS= GOAMD64=v1 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -buildid= -X main.version=${VERSION}" -o /out/portal ./cmd/portal
RUN mkdir -p /out/etc /out/data /out/tmp /out/home/nonroot \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /out/etc/group \
 && chmod 1777 /out/tmp && chmod 700 /out/home/nonroot

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/etc/passwd /out/etc/group /etc/
COPY --from=build /out/tmp /tmp
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build --chown=65532:65532 /out/home/nonroot /home/nonroot
COPY --from=build /out/portal /portal
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="portal" \
      org.opencontainers.image.description="BillPay's internal developer platform" \
      org.opencontainers.image.source="https://github.com/billpay/portal" \
      org.opencontainers.image.url="https://github.com/billpay/portal" \
      org.opencontainers.image.licenses="UNLICENSED" \
      org.opencontainers.image.vendor="BillPay" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.created="${CREATED}"
ENV PORTAL_LISTEN=:7007 PORTAL_DATA_DIR=/data
USER 65532:65532
WORKDIR /
EXPOSE 7007/tcp
ENTRYPOINT ["/portal", "serve"]
